export * from "./mockUpdate.js";
