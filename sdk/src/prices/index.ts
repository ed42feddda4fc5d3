export * from "./mockUpdate.js";
export * from "./source.js";
export * from "./hermes.js";
export * from "./feeds.js";
