export {
  createAlerter,
  startAlerts,
  type Alerter,
  type AlertOptions,
  type AlertSettings,
  type OpenAlert,
} from './round';
export { createAlertMetrics, type AlertMetrics } from './metrics';
export { maskUrl, type AlertReceiver } from './deliver';
export { RECEIVER_FORMATS, type ReceiverFormat } from './formats';
export { ALERT_NAMES, DEFAULT_ALERT_THRESHOLDS, type AlertName, type AlertThresholds } from './rules';
export { SIGNATURE_REASONS } from './facts';
