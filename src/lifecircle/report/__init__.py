"""Monthly progress tracking (Tianshui plan 七(四)) and the report."""
