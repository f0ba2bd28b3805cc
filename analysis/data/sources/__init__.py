"""Third-party sources: the hourly app-chart archive (lock, fetch, daily rule), Wikimedia pageviews
(per article, per country), the Wikipedia top-100, Wikidata, bigtech.fail, press figures."""
