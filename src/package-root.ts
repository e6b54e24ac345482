import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package root (the nearest package.json up): from src/ (tests), dist/ (built) or build/ (bench). */
function findPackageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
