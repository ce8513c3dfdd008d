// The Node.js versions gantry runs on, checked before anything else loads: an older one would stop at an
// import with a SyntaxError that names neither Node nor the fix (zlib's crc32 came in 20.15 and 22.2;
// 21 never had it). The same range as package.json's engines.
export const supportedNode = '20.15 or later 20.x, 22.2 or later';

/** What is wrong with a Node.js version string ("20.11.1"), or undefined when it will do. */
export function nodeVersionProblem(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  const ok = (major === 20 && minor >= 15) || (major === 22 && minor >= 2) || major >= 23;
  if (ok) return undefined;
  return `gantry needs Node.js ${supportedNode}; this is ${version}. Install a current LTS release (24 or 26) and run again.`;
}
