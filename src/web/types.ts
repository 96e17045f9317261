// The API's own schemas are the types of what the dashboard reads: no hand-written twin to drift.
import type { Static } from 'typebox';
import type { CallDetailSchema } from '../api/calls.js';
import type { InfoSchema } from '../api/dashboard.js';
import type { RequestSchema } from '../api/schemas.js';
import type { HeatmapSchema, StatsSchema } from '../api/stats.js';

export type { Call } from '../calls/call-schema.js';
export type { MissedItem } from '../calls/missed.js';
export type { Alert } from '../alerts/engine.js';
export type { Delivery, Destination, ReplayResult } from '../forward/destinations.js';
export type CallDetail = Static<typeof CallDetailSchema>;
export type Info = Static<typeof InfoSchema>;
export type StoredRequest = Static<typeof RequestSchema>;
export type Stats = Static<typeof StatsSchema>;
export type Figures = Stats['totals'];
export type Heatmap = Static<typeof HeatmapSchema>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
