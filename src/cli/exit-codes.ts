// The CLI's exit codes live with the actions that set them (src/app/exit-codes.ts).
export { EXIT } from '../app/exit-codes.js';
