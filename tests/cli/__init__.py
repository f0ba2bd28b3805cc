"""Tests mirror the package tree: tests/<sub>/ holds the tests of analysis/<sub>/."""
