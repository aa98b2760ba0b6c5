"""The app's pages, one module each: its routes, its handlers, its JSON endpoints."""
