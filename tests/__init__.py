"""The tests: tests/<sub>/ holds the tests of analysis/<sub>/; tests of the top-level modules and of the layout stay here."""
