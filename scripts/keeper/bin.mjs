#!/usr/bin/env node
// The `perp-keeper` executable of @perp/keeper: the TypeScript entry point, run through tsx (no build step).
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
