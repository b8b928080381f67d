// What every provider's dataFrom.find shares.

/** find returns at most this many secrets (a Secret holds at most 1 MiB anyway). */
export const MAX_FIND_RESULTS = 1000;

/** find.path is a folder: "team/a" holds "team/a/x" but not "team/ab". */
export function underPath(name: string, path: string | undefined): boolean {
  const folder = (path ?? '').replace(/^\/+|\/+$/g, '');
  return folder === '' || name.replace(/^\/+/, '').startsWith(`${folder}/`);
}
