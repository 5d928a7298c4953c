// Package proc runs a tool's processes: it forks each run into its own process group (execve, never a shell),
// captures its output within a bound, stops it on a timeout or a cancellation (TERM, grace, KILL of the whole
// group), and, as the container's init or a child subreaper, reaps every child, orphans included, without
// stealing a run's exit status.
package proc
