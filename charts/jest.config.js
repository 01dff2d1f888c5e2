// Tests of the Helm chart (charts/wacloud): `cd charts && npx jest` (scripts/test.sh runs it with the workspaces).
import preset from '../jest.preset.js';
export default { ...preset, testTimeout: 60_000 };
