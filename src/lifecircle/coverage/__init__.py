"""Coverage: exact walking-network distances from residents to outlets, and indicators."""
