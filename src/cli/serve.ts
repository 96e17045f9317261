import { loadConfig, settingsHelp } from '../config.js';
import { startServer } from '../main.js';

export const serveHelp = `callhook serve: receive TeleCMI and PIOPIY webhooks and serve the API

Usage: callhook serve [--port 5000] [--data-dir ./data] [...]

Every setting, with its environment variable and default (a flag wins over the variable):
${settingsHelp()}

Example:
  CALLHOOK_WEBHOOK_TOKEN=s3cret callhook serve --port 8080`;

export async function serve(args: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig(args);
  const running = await startServer(config, (line) => process.stderr.write(`${line}\n`));
  return new Promise<number>((resolveExit) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`${signal}: finishing in-flight requests, then closing the database\n`);
      const timer = setTimeout(() => {
        process.stderr.write(`in-flight requests did not finish within ${config.shutdownTimeoutMs} ms; exiting\n`);
        resolveExit(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
      running.close().then(
        () => {
          clearTimeout(timer);
          resolveExit(0);
        },
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          resolveExit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
