-- Timer delays: a timer row's due time is wall-clock time, and the wall clock may have stepped
-- while the hub was down. With the delay the machine asked for beside it, a restart can re-arm each
-- timer no later than now + its delay, whatever the clock did. Rows written before this migration
-- carry NULL; the runtime bounds them by the machine's longest fixed delay instead.
ALTER TABLE timers ADD COLUMN delay_ms INTEGER;
