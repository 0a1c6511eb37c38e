"""Reader studies (visual Turing tests): a blinded static page that readers take in a
browser, and the scoring of their answers into the results store.

- design.py: which images, in which order, and the key that says which are real;
- page.py: the self-contained HTML page (no key in it);
- answers.py: reading and checking the answer files the page downloads;
- statistics.py: per-reader accuracy, sensitivity and ROC AUC with intervals, Fleiss' κ;
- records.py: the scores as metrics of the runs studied.
"""
