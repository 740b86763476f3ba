ALTER TABLE staging.satisfaction_response DROP COLUMN IF EXISTS submitted_at;
