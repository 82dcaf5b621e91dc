-- Row checksums: SQLite has no checksums of its own, so a flipped byte inside a value would pass its
-- integrity check. Each row that state is rebuilt from carries a CRC-32 of its content, checked when
-- it is read; a mismatch refuses the file instead of running on wrong data. Rows written before this
-- migration carry NULL and are trusted as they were.
ALTER TABLE servers ADD COLUMN crc INTEGER;
ALTER TABLE events ADD COLUMN crc INTEGER;
ALTER TABLE timers ADD COLUMN crc INTEGER;
ALTER TABLE outbox ADD COLUMN crc INTEGER;
ALTER TABLE orphans ADD COLUMN crc INTEGER;
