/** Client transports without market knowledge: a WebSocket link with send budgets, and HTTP GET. */
export { SocketLink, type SendBudget, type SocketEnd, type SocketLinkOptions } from './websocket.js';
export { getResponse, getText, type GetTextOptions, type HttpResponse } from './http.js';
