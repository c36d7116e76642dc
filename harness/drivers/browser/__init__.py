"""The browser driver: a real Chromium driven with Playwright, clicking the chatbot's own icons."""
