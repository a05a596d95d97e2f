// The composition root (module/index.ts) runs luxon with throwOnInvalid on: an unreadable time
// throws instead of coming back invalid. Every test process runs as production does, whatever
// file happens to load the root first in a mocha worker.
import { Settings } from 'luxon';

Settings.throwOnInvalid = true;
