/** The backend conformance suite on the pure-TS cpu backend: every case, float16 included. */
import { DTYPES } from '../src/index';
import { defineConformanceSuite } from '../src/testing';

defineConformanceSuite('cpu', { dtypes: DTYPES });
