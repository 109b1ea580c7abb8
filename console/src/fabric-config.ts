// Imported first: Fluent UI reads FabricConfig when its modules load. An empty font base URL keeps it from
// registering web fonts on Microsoft's CDN, which the console's Content-Security-Policy does not allow; the
// console uses the system's Segoe UI or its fallbacks. (Fluent declares `window.FabricConfig`.)
window.FabricConfig = { ...window.FabricConfig, fontBaseUrl: '' };
export {};
