"""View-models and formatting: turning domain objects into what pages show."""
