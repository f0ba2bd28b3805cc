"""From rank changes to downloads: the rank-downloads power law (``law``, Garg & Telang 2013),
window multiples (``window``) and the check of its exponent against press figures (``exponent_check``)."""
