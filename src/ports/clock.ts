// The Clock port: the shell reads time through it, the core takes `now` as a parameter.
export interface Clock { now(): Date }

export const systemClock: Clock = { now: () => new Date() };
