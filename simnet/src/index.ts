/**
 * `@wacloud/simnet`: the simulated WhatsApp network. `createSimnetServer` runs it in-process (tests); the
 * `wacloud-simnet` binary (`dist/main.js`) runs it as a server of its own. The device wire protocol is also exported
 * alone as `@wacloud/simnet/protocol`, for clients (the instance's simulated engine).
 */
export { createSimnetServer, type SimnetServer, type SimnetServerOptions } from './server.js';
export { SimNetwork } from './network.js';
export { SimnetError, newMessageKey, type Link, type NetworkOptions, type SendInput } from './model.js';
export * from './protocol.js';
