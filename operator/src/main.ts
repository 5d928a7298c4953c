// The operator's entry point: read settings, connect, run until SIGTERM. Everything else lives in operator.ts.
// A start-up problem that a setting fixes (a flag, the kubeconfig, the API server, a port in use) ends the process
// with one log line naming that setting and exit code 2 (config/startup.ts).
import { loadSettings, SettingsError, settingsHelp } from './config/settings.ts';
import { checkApiServer, LISTEN_SETTING, listenErrorMessage, loadKubeConfig, STARTUP_EXIT_CODE, StartupError } from './config/startup.ts';
import { createOperator } from './operator.ts';
import { createLogger, errorFields } from './runtime/index.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(`skillpod operator\n\nSettings (flag, environment variable):\n${settingsHelp()}`);
  process.exit(0);
}

let settings;
try {
  settings = loadSettings(argv, process.env);
} catch (err) {
  // A bad setting is a configuration error: say which and stop, rather than crash-loop with a stack trace.
  console.error(err instanceof SettingsError ? err.message : String(err));
  process.exit(2);
}

const logger = createLogger({ level: settings.logLevel, base: { service: 'skillpod-operator' } });

/** A configuration problem found at start-up: one line naming the setting to change, no stack trace. */
function fail(setting: string, message: string): never {
  logger.fatal({ setting }, message);
  logger.flush();
  process.exit(STARTUP_EXIT_CODE);
}

let kubeConfig;
try {
  kubeConfig = await loadKubeConfig(process.env);
  const version = await checkApiServer(kubeConfig, { timeoutMs: settings.startupTimeoutSeconds * 1000 });
  logger.info({ server: kubeConfig.getCurrentCluster()?.server, version, namespaces: settings.watchNamespaces.length ? settings.watchNamespaces : 'all',
    leaderElect: settings.leaderElect }, 'starting');
} catch (err) {
  if (err instanceof StartupError) fail(err.setting, err.message);
  throw err;
}

const manager = createOperator({ kubeConfig, settings, logger, handleSignals: true });
try {
  await manager.start();
} catch (err) {
  const line = listenErrorMessage(err, settings.serverBindAddress);
  if (line) fail(LISTEN_SETTING, line);
  logger.fatal(errorFields(err), 'start-up failed');
  logger.flush();
  process.exit(1);
}
const exit = await manager.done;
logger.info({ reason: exit.reason, abandoned: exit.abandoned }, 'stopped');
process.exit(exit.exitCode);
