// Types of the validator that `npm run build` generates as dist/src/schema/policy-file-validator.js.
import type { ValidateFunction } from 'ajv/dist/2020.js';

export declare const validate: ValidateFunction;
/** JSON.stringify of the schema the validator was generated from. */
export declare const schemaJson: string;

