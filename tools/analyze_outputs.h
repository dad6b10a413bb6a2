// The files of one map under DIR/analysis/<map>/ and its entry in analysis.json, written by
// `glassy analyze`:
//   entropy.npy        (NX, NY) float64, S shifted so the smallest visited bin is 0, NaN where
//                      unvisited
//   equilibrium.csv    x,visits,y_argmax,y_argmax_se,y_mean,y_mean_se,s_max (s_max shifted)
//   adamw.csv          x_lo,x_hi,seeds,y_mean,y_se (bins with AdamW points only)
//   advantage.csv      x_lo,x_hi,y_equilibrium,y_equilibrium_se,y_adamw,y_adamw_se,advantage,
//                      advantage_se (y_equilibrium is the argmax curve)
//   barrier_path.csv   order,x,accuracy,s (the widest path, memorizing end first, s shifted)
// Numbers are printed with %.17g; a missing value is an empty field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/analyze_map.h"

namespace glassy {

// Writes the files above into directory, which must exist.
void write_map_analysis_files(const std::string& directory, const MapInput& input,
                              const MapAnalysis& analysis);

// The "advantage" and "barrier" objects of a map's entry in analysis.json. The advantage is
// null when no 0.5 bin entirely below ln L_train = -4 has both curves.
nlohmann::json advantage_json(const MapAnalysis& analysis);
nlohmann::json barrier_json(const MapAnalysis& analysis);

}  // namespace glassy
