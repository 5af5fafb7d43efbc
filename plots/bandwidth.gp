# bandwidth.gp - bandwidth in use per resource over time (the storage
# ladder's pipes: the shared store, each node's network link and storage,
# disk caches, shm, NVLink, h2d), a step line per resource, so a planner
# sees which pipe was the bottleneck. A line that sits on its capacity
# (dashed, the resource's colour) is a saturated pipe.
# `thaw plot bandwidth` writes the data and runs this script; by hand:
#   gnuplot -e "datafile='bw.dat'; names='\"store:s3\" \"network:a\"'; caps='2 4'; \
#     tmax=30; title='...'; outfile='b.png'; term='pngcairo'" plots/bandwidth.gp
# bw.dat: one block per resource (blocks separated by two blank lines):
#   t_s  used_GBps   (a step: the rate holds until the next row)
# caps: each resource's capacity in GB/s (1e9 bytes per second), in the
# order of names.
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'bandwidth.png'
if (!exists("title")) title = 'Bandwidth in use per resource'

n = words(names)
if (term eq 'svg') {
    set terminal svg size 1200, 640 dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 1200, 640 background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

array C[16] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", \
               "#aec7e8", "#ffbb78", "#98df8a", "#ff9896"]

capmax = 0
do for [i = 1:n] { if (word(caps, i) + 0 > capmax) { capmax = word(caps, i) + 0 } }
set title title
set xlabel 'time since the run started (s)'
set ylabel 'bandwidth in use (GB/s)'
set xrange [0:tmax]
if (exists("logy") && logy) {
    set logscale y
    set yrange [0.001:capmax * 1.5]
} else {
    set yrange [0:capmax * 1.12]
}
set grid xtics ytics lc rgb '#dddddd'
set key outside right top vertical Left reverse samplen 2 spacing 1.1 font ',9'
do for [i = 1:n] {
    c = word(caps, i) + 0
    set arrow from first 0, first c to first tmax, first c nohead dt 2 lw 1 \
        lc rgb C[(i - 1) % 16 + 1] back
}
plot for [i = 0:n - 1] datafile index i using 1:2 with steps lw 2 \
        lc rgb C[i % 16 + 1] title word(names, i + 1), \
    keyentry with lines dt 2 lw 1 lc rgb '#666666' title 'capacity'
