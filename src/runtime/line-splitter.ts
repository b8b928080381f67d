// A watch stream is one JSON event per line, cut into chunks anywhere. Each
// chunk is searched once, so the work is linear in the stream: searching all
// that is still buffered after every line (which also flattens it, a copy)
// grows with the square of the events in a chunk, or of the chunks a large
// object spans.

/** Splits streamed text into lines, however the chunks fall. */
export class LineSplitter {
  /** The start of a line whose end has not arrived yet. */
  private rest = '';

  /** The lines `text` completes, in order, without their newline. */
  push(text: string): string[] {
    let newline = text.indexOf('\n');
    if (newline < 0) {
      this.rest += text;
      return [];
    }
    const lines = [this.rest + text.slice(0, newline)];
    let start = newline + 1;
    while ((newline = text.indexOf('\n', start)) >= 0) {
      lines.push(text.slice(start, newline));
      start = newline + 1;
    }
    this.rest = text.slice(start);
    return lines;
  }
}
