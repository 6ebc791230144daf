fn main() {
    println!("koopman: under construction");
}
