// Validate a MapLibre style document with MapLibre's own style-spec validator; prints the
// errors as a JSON array (empty when the style is valid). Usage: node validate-style.mjs FILE
import { readFileSync } from 'node:fs';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';

const style = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const errors = validateStyleMin(style).map((e) => e.message);
process.stdout.write(JSON.stringify(errors));
