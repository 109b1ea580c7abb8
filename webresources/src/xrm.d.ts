// The form scripts run where the platform provides the global `Xrm`; its types come from @types/xrm.
/// <reference types="xrm" />
