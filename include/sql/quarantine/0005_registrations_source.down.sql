DELETE FROM quarantine.registration WHERE source = 'bulk';
ALTER TABLE quarantine.registration DROP COLUMN file_name;
ALTER TABLE quarantine.registration DROP COLUMN source;
