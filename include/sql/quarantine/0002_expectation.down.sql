ALTER TABLE quarantine.upload DROP COLUMN IF EXISTS expectation;
ALTER TABLE quarantine.poi DROP COLUMN IF EXISTS expectation;
ALTER TABLE quarantine.registration DROP COLUMN IF EXISTS expectation;
