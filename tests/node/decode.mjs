// Decode servicemap vector tiles with Mapbox's reference JavaScript reader and print what a
// browser map would see, as JSON, for tests/tiles_clients.rs to compare with the data.
// Usage: node decode.mjs FILE Z X Y [FILE Z X Y ...]
import { readFileSync } from 'node:fs';
import { VectorTile, VectorTileFeature } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

// Surveyor's formula in tile coordinates (y down): MVT 2.1 wants exterior rings positive.
function ringArea(ring) {
    let sum = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        sum += ring[j].x * ring[i].y - ring[i].x * ring[j].y;
    }
    return sum / 2;
}

const args = process.argv.slice(2);
const out = [];
for (let i = 0; i < args.length; i += 4) {
    const [file, z, x, y] = [args[i], +args[i + 1], +args[i + 2], +args[i + 3]];
    const tile = new VectorTile(new PbfReader(readFileSync(file)));
    const layers = {};
    for (const [name, layer] of Object.entries(tile.layers)) {
        const features = [];
        for (let j = 0; j < layer.length; j++) {
            const f = layer.feature(j);
            const geometry = f.loadGeometry();
            const geojson = f.toGeoJSON(x, y, z);
            features.push({
                id: f.id,
                type: VectorTileFeature.types[f.type],
                properties: f.properties,
                rings: f.type === 3 ? geometry.map(ringArea) : [],
                geojsonType: geojson.geometry.type,
                coordinates: f.type === 1 ? geojson.geometry.coordinates : null,
            });
        }
        layers[name] = { version: layer.version, extent: layer.extent, features };
    }
    out.push({ file, layers });
}
process.stdout.write(JSON.stringify(out));
