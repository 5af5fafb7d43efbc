# cdf.gp - cold-start latency per run: the empirical CDF of the time from a
# load entering the queue to its instance being READY (loads for a demand
# or a failover), one step line per run, labelled by its policy.
# `thaw plot cdf` writes the data and runs this script; by hand:
#   gnuplot -e "datafile='cdf.dat'; titles='\"run 1: queue=fifo\" \"run 2: queue=priority\"'; \
#     title='...'; outfile='c.png'; term='pngcairo'" plots/cdf.gp
# cdf.dat: one block per run (blocks separated by two blank lines), each row
#   latency_s  fraction_of_cold_starts_at_or_below
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'cdf.png'
if (!exists("title")) title = 'Cold-start latency'

nruns = words(titles)
# Long labels go below the plot, one a line: the canvas grows by a line
# each, so the plot keeps its height.
longest = 0
do for [i = 1:nruns] { if (strlen(word(titles, i)) > longest) { longest = strlen(word(titles, i)) } }
height = 640
if (longest > 32 && nruns > 6) { height = 640 + 18 * nruns }
if (term eq 'svg') {
    set terminal svg size 1000, height dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 1000, height background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

array C[12] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]

set title title
set xlabel 'cold-start latency: enqueued to READY (s)'
set ylabel 'fraction of cold starts with latency <= x'
if (exists("logscale") && logscale) {
    set logscale x
    set xrange [*:*]
} else {
    set xrange [0:*]
}
# Room right of the last step, so the final rise is not on the frame.
set offsets 0, graph 0.04, 0, 0
set yrange [0:1.04]
set ytics 0, 0.1, 1
set grid xtics ytics lc rgb '#dddddd'
# The usual percentiles, for reading p50/p95/p99 off the chart.
do for [q in "0.5 0.95 0.99"] {
    set arrow from graph 0, first q + 0 to graph 1, first q + 0 nohead dt 3 lc rgb '#888888' back
    set label sprintf('p%g', (q + 0) * 100) at graph 1, first q + 0 offset 0.5, 0 left tc rgb '#555555'
}
# A few lines: the key inside, bottom right, where a CDF is empty. More:
# outside on the right, so it covers no curve.
if (nruns <= 6) {
    set rmargin 6
    set key bottom right box opaque spacing 1.2 samplen 3
} else {
    longest = 0
    do for [i = 1:nruns] { if (strlen(word(titles, i)) > longest) { longest = strlen(word(titles, i)) } }
    if (longest <= 32) {
        set key outside right top vertical Left reverse spacing 1.1 samplen 3 font ',9'
    } else {
        set rmargin 6
        set key below vertical Left reverse spacing 1.0 samplen 3 maxcols 1 font ',9' title ' '
    }
}

# Earlier lines are drawn wider, so that identical curves stay visible as
# a line with a border of another colour.
lwidth(i) = i < 4 ? 5 - 1.1 * i : 1.5
plot for [i = 0:nruns - 1] datafile index i using 1:2 with steps lw lwidth(i) lc rgb C[i % 12 + 1] dt 1 + int(i / 12) \
    title word(titles, i + 1)
