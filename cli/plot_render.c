/* plot_render.c - runs gnuplot on a prepared chart: plots/KIND.gp with the
 * job's variables as one -e string, with fork + execvp and no shell in
 * between, so no name in a database can be interpreted as a command. A
 * close-on-exec pipe tells "gnuplot is not installed" from "gnuplot failed". */
#include "plot_common.h"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int cli_plot_render(const struct cli_plot_job *job, const char *outfile, const char *gnuplot,
                    struct thaw_err *err)
{
    if (!job || !job->assign || !outfile)
        return thaw_err_set(err, THAW_EINVAL, "plot: nothing prepared to render");
    const char *dot = strrchr(outfile, '.');
    const char *term = NULL;
    if (dot && !strcasecmp(dot, ".png"))
        term = "pngcairo";
    else if (dot && !strcasecmp(dot, ".svg"))
        term = "svg";
    else
        return thaw_err_set(err, THAW_EINVAL, "plot: the output must end in .png or .svg, found %s",
                            outfile);
    if (!gnuplot) gnuplot = getenv("THAW_GNUPLOT");
    if (!gnuplot || !*gnuplot) gnuplot = "gnuplot";

    struct cli_plot_sbuf sb = {0};
    cli_plot_printf(&sb, "%s", job->assign);
    cli_plot_gp_str(&sb, "outfile", outfile);
    cli_plot_gp_str(&sb, "term", term);
    if (sb.oom) {
        free(sb.s);
        return thaw_err_set(err, THAW_ENOMEM, "plot: out of memory");
    }
    unlink(outfile); /* so that a stale chart is never mistaken for a new one */
    /* A close-on-exec pipe tells the parent whether execvp itself failed
     * (gnuplot missing) as opposed to gnuplot failing. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(sb.s);
        return thaw_err_set(err, THAW_EIO, "plot: pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        free(sb.s);
        return thaw_err_set(err, THAW_EIO, "plot: fork: %s", strerror(e));
    }
    if (pid == 0) {
        char *argv[] = {(char *)gnuplot, "-e", sb.s, (char *)job->script, NULL};
        execvp(gnuplot, argv);
        int e = errno;
        ssize_t w = write(fds[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(fds[1]);
    int exec_errno = 0;
    ssize_t got;
    do
        got = read(fds[0], &exec_errno, sizeof exec_errno);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    free(sb.s);
    if (got == (ssize_t)sizeof exec_errno) {
        if (exec_errno == ENOENT)
            return thaw_err_set(err, THAW_ENOENT,
                                "plot: gnuplot is not installed (\"%s\" is not in PATH); install "
                                "it with: apt-get install gnuplot-nox",
                                gnuplot);
        return thaw_err_set(err, THAW_EIO, "plot: cannot run %s: %s", gnuplot,
                            strerror(exec_errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return thaw_err_set(err, THAW_EIO, "plot: gnuplot failed on %s (%s %d)", job->script,
                            WIFEXITED(status) ? "exit status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    struct stat sst;
    if (stat(outfile, &sst) != 0 || sst.st_size == 0)
        return thaw_err_set(err, THAW_EIO, "plot: gnuplot wrote no chart to %s", outfile);
    return 0;
}
