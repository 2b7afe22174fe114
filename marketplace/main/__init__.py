"""Home page, language switch, health check and the development mail viewer."""
