# cluster.gp - the whole cluster over time for one run, in four panels
# sharing the time axis: READY instances; loads waiting in the queue;
# requests waiting for an instance; VRAM reserved against the capacity.
# (A panel each: a thousand queued loads would flatten 16 READY instances.)
# Its size does not depend on the number of GPUs, so it reads the same at 4
# and at 256. `thaw plot cluster` writes the data and runs this script; by hand:
#   gnuplot -e "datafile='cluster.dat'; vramcap=160; topready=4; topqueued=12; toprequests=40; tmax=120; title='...'; \
#     outfile='c.png'; term='pngcairo'" plots/cluster.gp
# cluster.dat: t_s  ready_instances  queued_loads  waiting_requests  vram_reserved_GiB
#   (a step: each value holds until the next row)
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'cluster.png'
if (!exists("title")) title = 'The cluster over time'
if (!exists("vramcap")) vramcap = 0
# The largest values, so that an empty series still gets an axis.
if (!exists("topready")) topready = 0
if (!exists("topqueued")) topqueued = 0
if (!exists("toprequests")) toprequests = 0

if (term eq 'svg') {
    set terminal svg size 1100, 1050 dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 1100, 1050 background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

# TiB once the cluster holds more than 4 TiB, so the tics stay short.
unit = vramcap > 4096 ? 'TiB' : 'GiB'
div = vramcap > 4096 ? 1024.0 : 1.0

set multiplot title title layout 4, 1 margins 0.09, 0.80, 0.06, 0.91 spacing 0, 0.025
set xrange [0:tmax]
set grid xtics ytics lc rgb '#dddddd'
set key outside right top vertical Left reverse samplen 2 spacing 1.2
set format x ''
set ylabel 'instances'
set yrange [0:(topready > 0 ? topready * 1.1 : 1)]
# Counts: whole tics only (no "0.5 instances" on a small cluster).
if (topready <= 8) { set ytics 1 } else { set ytics autofreq }
plot datafile using 1:2 with steps lw 2.5 lc rgb '#2ca02c' title 'READY instances'

set ylabel 'loads'
set yrange [0:(topqueued > 0 ? topqueued * 1.1 : 1)]
if (topqueued <= 8) { set ytics 1 } else { set ytics autofreq }
plot datafile using 1:3 with steps lw 2 lc rgb '#ff7f0e' title 'loads queued'

set ylabel 'requests'
set yrange [0:(toprequests > 0 ? toprequests * 1.1 : 1)]
if (toprequests <= 8) { set ytics 1 } else { set ytics autofreq }
if (exists("logscale") && logscale) {
    set logscale y
    set yrange [0.8:(toprequests > 1 ? toprequests * 2 : 10)]
}
plot datafile using 1:($4 > 0 ? $4 : (exists("logscale") && logscale ? NaN : 0)) with steps \
     lw 2 lc rgb '#d62728' title 'requests waiting'
unset logscale y
set ytics autofreq

set format x '%g'
set xlabel 'time since the run started (s)'
set ylabel sprintf('VRAM reserved (%s)', unit)
if (vramcap > 0) {
    set yrange [0:vramcap / div * 1.1]
    set arrow from first 0, first vramcap / div to first tmax, first vramcap / div nohead dt 2 lw 1.5 lc rgb '#666666' back
}
plot datafile using 1:($5 / div) with steps lw 2.5 lc rgb '#1f77b4' title 'VRAM reserved', \
     keyentry with lines dt 2 lw 1.5 lc rgb '#666666' title sprintf('capacity %.4g %s', vramcap / div, unit)
unset multiplot
