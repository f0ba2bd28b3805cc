"""The answer a reviewer reads first: the answer table and its sentences, on the outcome's scale
(``outcome``), the opening section of the page (``section``) and its terminal form (``text``)."""
