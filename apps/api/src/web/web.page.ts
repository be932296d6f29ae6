/**
 * The web page served at `/` and `/app`. No inline script or style (the Content-Security-Policy allows
 * `script-src 'self'`): behaviour is in /app.js, looks in /app.css. data-testid attributes are for the
 * browser test (apps/worker/test/web.int-spec.ts).
 */
export const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Ingest: documents</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/app.css">
  <script type="module" src="/app.js"></script>
</head>
<body>
  <header>
    <h1>Ingest</h1>
    <p class="muted">Upload documents; they are parsed, chunked and embedded for search.</p>
  </header>
  <main>
    <p id="app-error" class="error" role="alert" data-testid="app-error" hidden></p>

    <section aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      <form id="signin-form" data-testid="signin-form">
        <label for="token-input">Access token (JWT)</label>
        <div class="row">
          <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" required
                 aria-describedby="token-hint" data-testid="token-input">
          <button type="submit" data-testid="signin-button">Sign in</button>
        </div>
        <p id="token-hint" class="muted">Paste a token. For a local stack, <code>npm run -s token</code> mints one.
          It is kept in this tab only (sessionStorage).</p>
      </form>
      <div id="signed-in" class="row" hidden>
        <p data-testid="signed-in-as" id="signed-in-as"></p>
        <button type="button" id="signout-button" class="secondary" data-testid="signout-button">Sign out</button>
      </div>
      <p id="signin-status" class="error" role="alert" data-testid="signin-status"></p>
    </section>

    <div id="workspace" hidden>
      <section aria-labelledby="upload-title">
        <h2 id="upload-title">Upload</h2>
        <form id="upload-form" data-testid="upload-form">
          <label for="file-input">Documents (PDF, DOCX, TXT, Markdown, HTML)</label>
          <div class="row">
            <input id="file-input" name="files" type="file" multiple required data-testid="file-input"
                   accept=".pdf,.docx,.txt,.md,.markdown,.html,.htm,application/pdf,text/plain,text/markdown,text/html">
            <button type="submit" data-testid="upload-button">Upload</button>
          </div>
        </form>
        <ul id="upload-status" class="log" role="status" aria-live="polite" data-testid="upload-status"></ul>
      </section>

      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Documents and jobs</h2>
        <p class="muted">Live: active jobs refresh twice a second, the list every two seconds.</p>
        <p id="jobs-status" class="error" role="alert" data-testid="jobs-status"></p>
        <table data-testid="jobs-table">
          <thead>
            <tr><th scope="col">File</th><th scope="col">Stage</th><th scope="col">State</th>
                <th scope="col">Progress</th><th scope="col">History</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
          </thead>
          <tbody id="jobs-body"></tbody>
        </table>
        <p id="jobs-empty" class="muted" data-testid="jobs-empty">No documents yet.</p>
      </section>

      <section aria-labelledby="dead-title">
        <h2 id="dead-title">Dead letters</h2>
        <p class="muted">Jobs that failed for good. Retry sends one back into the pipeline from where it failed.</p>
        <p id="dead-status" class="error" role="alert" data-testid="dead-status"></p>
        <ul id="dead-list" class="cards" data-testid="deadletters"></ul>
        <p id="dead-empty" class="muted" data-testid="dead-empty">None.</p>
      </section>

      <section aria-labelledby="search-title">
        <h2 id="search-title">Search</h2>
        <form id="search-form" role="search" data-testid="search-form">
          <label for="search-input">Question</label>
          <div class="row">
            <input id="search-input" name="query" type="search" required maxlength="2000" data-testid="search-input">
            <label for="search-top-k" class="inline">Results</label>
            <input id="search-top-k" name="top_k" type="number" min="1" max="50" value="5" data-testid="search-top-k">
            <button type="submit" data-testid="search-button">Search</button>
          </div>
        </form>
        <p id="search-status" role="status" aria-live="polite" data-testid="search-status"></p>
        <ol id="search-results" class="cards" data-testid="search-results"></ol>
      </section>
    </div>
  </main>
</body>
</html>
`;
