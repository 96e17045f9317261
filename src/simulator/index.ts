export { generateDeliveries, CHAOS_KINDS, type Chaos, type Delivery, type Flow, type GenerateOptions, type Generated, type SimCall } from './generate.js';
export { simulate, sendDelivery, deliveryUrl, type DeliveryResult, type SimulateOptions, type SimulateReport } from './send.js';
