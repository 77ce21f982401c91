"""Local state: the SQLite journal of labs, resources and steps, and lab directories."""
