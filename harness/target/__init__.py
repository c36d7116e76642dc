"""The app under test: launched in-process, or reached at a URL or as a Space, and waited for."""
