// The operator's entry point: read settings, connect, run until SIGTERM. Everything else lives in operator.ts.
import { KubeConfig } from '@kubernetes/client-node';
import { loadSettings, SettingsError, settingsHelp } from './config/settings.ts';
import { createOperator } from './operator.ts';
import { createLogger } from './runtime/index.ts';

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
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
logger.info({ server: kubeConfig.getCurrentCluster()?.server, namespaces: settings.watchNamespaces.length ? settings.watchNamespaces : 'all',
  leaderElect: settings.leaderElect }, 'starting');

const manager = createOperator({ kubeConfig, settings, logger, handleSignals: true });
await manager.start();
const exit = await manager.done;
logger.info({ reason: exit.reason, abandoned: exit.abandoned }, 'stopped');
process.exit(exit.exitCode);
