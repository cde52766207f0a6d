/** Adapter placeholder: the framework wiring lands with the adapters issue. */
export const adapterReady = false;
