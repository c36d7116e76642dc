"""Helpers for the tests: servers on loopback, the deployed shapes, the bundled runs, a scripted driver."""
